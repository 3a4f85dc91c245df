"""The last line of defence: configured secrets never reach stdout or stderr, whatever prints them."""

from __future__ import annotations

import io

from bot.channels.shared.redaction import RedactingStream, secrets_in

ENV = {"TELEGRAM_BOT_TOKEN": "123456:AAH-secret_part", "TELEGRAM_WEBHOOK_SECRET": "hook-secret-1",
       "WECOM_SECRET": "corp-secret-9", "WECOM_ENCODING_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
       "PLANBOT_DATABASE_URL": "postgresql+psycopg://planbot:db-pass-77@127.0.0.1/planbot",
       "TELEGRAM_API_URL": "http://127.0.0.1:8081", "PLANBOT_LANG": "zh", "HOME": "/root", "WECOM_TOKEN": "abc"}


def test_the_secrets_of_an_environment() -> None:
    found = secrets_in(ENV)
    for secret in ("123456:AAH-secret_part", "AAH-secret_part", "hook-secret-1", "corp-secret-9",
                   ENV["WECOM_ENCODING_AES_KEY"], "db-pass-77"):
        assert secret in found
    assert not {"http://127.0.0.1:8081", "zh", "/root", "abc"} & set(found)  # not secrets, or too short to hide
    assert found == sorted(found, key=len, reverse=True)  # the whole token before its secret half


def test_a_redacting_stream_hides_every_secret() -> None:
    out = io.StringIO()
    stream = RedactingStream(out, secrets_in(ENV))
    stream.write("telegram.error.InvalidToken: The token `123456:AAH-secret_part` was rejected by the server.\n")
    stream.write("url https://api.telegram.org/botAAH-secret_part/getMe, aes " + ENV["WECOM_ENCODING_AES_KEY"])
    stream.flush()
    text = out.getvalue()
    assert "secret_part" not in text and ENV["WECOM_ENCODING_AES_KEY"] not in text
    assert "The token `***` was rejected" in text and stream.getvalue() == text  # the rest goes to the stream
