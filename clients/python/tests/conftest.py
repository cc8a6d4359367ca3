import sys
from pathlib import Path

# the test helper modules of this folder (--import-mode=importlib puts nothing on sys.path)
sys.path.insert(0, str(Path(__file__).resolve().parent))
