"""The kopf operator: DrawingSession resources reconciled into room pods, Services and routes.

`python -m drawnet.operator` runs it; `docs/operator.md` describes the resource, the status and the
settings.
"""
