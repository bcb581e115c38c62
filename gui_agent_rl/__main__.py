import sys

from gui_agent_rl.cli import main

sys.exit(main())
