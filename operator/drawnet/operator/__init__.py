"""The kopf operator: DrawingSession resources reconciled into room pods (built in its own issue)."""
