import sys

from wechat_sim.cli import main

sys.exit(main())
