"""`kinema serve`: an HTTP server shaped like OpenAI's Videos API, over a durable job queue.

An existing OpenAI client changes only its base URL. The pieces, one idea per module:

    settings.py      ServerSettings: what `kinema serve` was told (data folder, keys, queue bound)
    catalog.py       the sizes and durations the loaded model supports, as the API spells them
    jobs.py          the Job record and the JobStore interface (a server database can replace SQLite)
    sqlite_store.py  SQLiteJobStore: the default store, one WAL-mode file in the data folder
    files.py         where a job's files live under the data folder; reading uploads, writing outputs
    policy.py        prompt policies checked before a job is queued (blocklist file, classifier hook)
    worker.py        the loop that owns the pipeline and renders jobs one at a time (a thread)
    worker_process.py  that loop in a child process, as `kinema serve` runs it
    service.py       the API's operations over store, catalog, files and policy (no HTTP in it)
    schemas.py       request and response bodies (pydantic), which also make /openapi.json
    errors.py        OpenAI's error envelope and the HTTP status of every failure
    auth.py          optional bearer-token check
    app.py           the FastAPI application: routes that parse, call the service and format

Nothing here imports FastAPI, torch or the model at package import; `create_app` and the worker
are imported where they are used.
"""
