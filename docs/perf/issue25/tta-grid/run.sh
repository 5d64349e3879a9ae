#!/bin/bash
# The runs of PLAN.md: ../tta/run.sh with both sides also evaluating every 78 steps. Finished runs
# are skipped, an unfinished one restarts from scratch. Usage: run.sh OUT [SEEDS]
GRID=78 exec bash "$(dirname "${BASH_SOURCE[0]}")/../tta/run.sh" "$@"
