# clustermap demo image: the Streamlit workbench on http://localhost:8501
#
#   docker build -t clustermap .
#   docker run -p 8501:8501 -v clustermap-data:/data clustermap
#
# The same image runs each role of a scaled deployment (README, "Scale out"): the web server (the
# default command; alone it trains on an embedded Dask cluster of its own), a Dask scheduler
# (`dask scheduler`) or a Dask worker (`dask worker tcp://SCHEDULER:8786 --nthreads 1
# --memory-limit 4GB --preload clustering.preload`); PYTHONPATH makes the backend importable
# for the workers, the scheduler never retries a job whose worker died, and a worker is never
# paused for memory (over its limit its nanny restarts it).
#
# CPU-only TensorFlow (tensorflow-cpu in requirements.txt); nothing is downloaded when the
# container starts. Layers are few on purpose: the dependency layer is cached until
# requirements.txt changes, the code layer comes last.
FROM python:3.11-slim

# STREAMLIT_BROWSER_SERVER_ADDRESS: the address printed at start-up (where `docker run -p
# 8501:8501` serves the app). Set, it also stops Streamlit from asking checkip.amazonaws.com
# for the machine's external IP on every start. Behind a domain, pass -e ...=demo.example.com.
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    KERAS_BACKEND=tensorflow \
    TF_CPP_MIN_LOG_LEVEL=2 \
    STREAMLIT_SERVER_PORT=8501 \
    STREAMLIT_BROWSER_SERVER_ADDRESS=localhost \
    STREAMLIT_SERVER_FILE_WATCHER_TYPE=none \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    PYTHONPATH=/app \
    DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0 \
    DASK_DISTRIBUTED__WORKER__MEMORY__PAUSE=False

WORKDIR /app
EXPOSE 8501 8786
# The slim image has no curl: the probe is a few lines of Python (scripts/docker/healthcheck.py).
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "/app/scripts/docker/healthcheck.py"]
CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.headless=true"]

# Dependencies (cached layer). In the same step, so that no layer stores them: TensorFlow's C++
# headers and libclang (only for building custom ops), the packages' own test suites, pip's
# cache, and the symbol tables of TensorFlow's shared libraries (~240 MB; binutils is installed
# for `strip` and purged again). The import and a small Keras computation check the result.
# Then the unprivileged user the app runs as.
COPY requirements.txt /tmp/requirements.txt
RUN set -eux; \
    pip install --no-cache-dir -r /tmp/requirements.txt; \
    pip uninstall -y libclang; \
    site="$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"; \
    rm -rf "$site/tensorflow/include"; \
    for pkg in numpy pandas scipy sklearn pyarrow; do \
        find "$site/$pkg" -depth -type d -name tests -exec rm -rf {} +; \
    done; \
    apt-get update; \
    apt-get install -y --no-install-recommends binutils; \
    find "$site/tensorflow" -type f -name '*.so*' -exec strip --strip-unneeded {} +; \
    apt-get purge -y --auto-remove binutils; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
        /tmp/requirements.txt /root/.cache; \
    python -c "import keras, numba, numpy, pandas, plotly, scipy, sklearn, streamlit, tensorflow; \
print(float(keras.ops.sum(keras.ops.matmul(keras.ops.ones((2, 3)), keras.ops.ones((3, 2))))))"; \
    useradd --create-home --shell /usr/sbin/nologin --uid 10001 app

# The workspaces (data, runs, jobs: SQLite by default) live in /data, a volume: mount one to keep
# them across containers (`docker run -v clustermap-data:/data ...`). Without -v, Docker gives the
# container an anonymous volume: the work survives a restart of the same container and is gone
# with the container (`docker run --rm` removes it on exit).
# (After the dependency layer, so that it stays cached.)
RUN mkdir -p /data && chown app:app /data
ENV CLUSTERMAP_DATA_DIR=/data
VOLUME ["/data"]

USER app

# The code, read-only for the app user (owned by root).
COPY . /app
