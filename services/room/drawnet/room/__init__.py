"""The room server: WebSockets in, NATS out and back, fan-out in uWebSockets' native pub/sub."""
