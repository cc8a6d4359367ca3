import sys
from pathlib import Path

# test support modules beside the tests (pytest runs in importlib mode)
sys.path.insert(0, str(Path(__file__).parent))
