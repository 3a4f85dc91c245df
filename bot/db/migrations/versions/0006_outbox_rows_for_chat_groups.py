"""outbox rows for chat groups: person_id nullable

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 16:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """A push to a chat group (a WeCom group robot) is to no one person: its person_id is NULL."""
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('person_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    """Drop the group rows, then require a person again."""
    op.execute("DELETE FROM outbox WHERE person_id IS NULL")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('person_id', existing_type=sa.Integer(), nullable=False)
