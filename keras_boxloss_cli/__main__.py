"""`python -m keras_boxloss_cli`: the `keras-boxloss` command."""

import sys

from keras_boxloss_cli import main

sys.exit(main())
