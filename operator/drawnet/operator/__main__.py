"""`python -m drawnet.operator`: run the operator with settings from the environment (`DRAWNET_OPERATOR_*`).

It talks to the cluster it runs in (its ServiceAccount), or to $KUBECONFIG's when run outside one.
"""

from __future__ import annotations

import logging
import socket

import kopf
from kopf._core.engines.peering import Identity

from drawnet.operator.handlers import register
from drawnet.operator.settings import OperatorSettings


def main() -> None:
    settings = OperatorSettings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s operator %(levelname)s %(name)s: %(message)s"
    )
    # kopf logs every handler's success at INFO; ours say what happened to what.
    quiet = max(logging.WARNING, logging.getLevelName(settings.log_level))
    logging.getLogger("kopf").setLevel(quiet)
    logging.getLogger("aiohttp.access").setLevel(quiet)  # every liveness probe, otherwise
    registry = kopf.OperatorRegistry()
    register(registry, settings)
    namespaces = settings.namespace_list
    liveness = f"http://0.0.0.0:{settings.liveness_port}/healthz" if settings.liveness_port else None
    print(  # noqa: T201 - the one line that says where it runs
        f"drawnet operator serving {', '.join(namespaces) or 'all namespaces'}", flush=True
    )
    kopf.run(
        registry=registry,
        clusterwide=not namespaces,
        namespaces=namespaces,
        standalone=True,
        liveness_endpoint=liveness,
        # kopf's own default asks the password database for the user's name, and the uid a pod runs as
        # (10001 in the chart, any uid on OpenShift) has no entry there: the pod's name is enough.
        identity=Identity(socket.gethostname()),
    )


if __name__ == "__main__":
    main()
