"""Container health probe (the image has no curl): exit 0 when Streamlit answers "ok".

Used by the Dockerfile's HEALTHCHECK and by scripts/docker_smoke.sh. Asks the server on this host
at the port it listens on (STREAMLIT_SERVER_PORT, default 8501); proxies are bypassed.
"""
import os
import sys
import urllib.request


def main() -> int:
    port = os.environ.get("STREAMLIT_SERVER_PORT", "8501")
    url = f"http://127.0.0.1:{port}/_stcore/health"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=4) as response:
            body = response.read().decode("utf-8", "replace").strip()
    except OSError as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if body != "ok":
        print(f"unhealthy: {url} answered {body[:80]!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
