"""quaywatch's HTTP API: a thin adapter over the services, as the command line is.

``create_app(settings)`` (``api.app``) builds the FastAPI application; ``quaywatch serve`` runs
it under uvicorn. Each router in ``api.routes`` maps requests to one capability's services and
their results to JSON; errors are RFC 9457 problem details (``api.problems``); who may call
what is the permission table of ``domain.access``, checked by ``api.context.Requires``.
"""
