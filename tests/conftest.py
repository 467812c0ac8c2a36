"""Settings for the whole test run: the workspace store lives in a throwaway data directory."""
import os
import tempfile

# In-process AppTests and the servers the browser tests start keep their workspaces here, never
# in the user's own data directory.
os.environ.setdefault("CLUSTERMAP_DATA_DIR", tempfile.mkdtemp(prefix="clustermap-tests-"))
