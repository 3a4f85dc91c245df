"""What every channel reuses: the router in worker processes, pacing primitives, secrets kept out of logs."""
