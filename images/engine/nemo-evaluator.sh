#!/bin/sh
# Entry point of the engine inside the image. exec keeps signals going straight to node.
exec node /opt/nemo-evaluator-ts/dist/src/bin/nemo-evaluator.js "$@"
