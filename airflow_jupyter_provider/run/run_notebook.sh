#!/usr/bin/env bash
# Join the run's cgroups, activate a conda environment, then run that environment's papermill.
#
#   run_notebook.sh [--cgroup CGROUP_PROCS]... [--layer LAYER] conda  CONDA_SH ENV_NAME_OR_PREFIX -- START_PAPERMILL_ARGUMENTS...
#   run_notebook.sh [--cgroup CGROUP_PROCS]... [--layer LAYER] packed UNPACKED_PREFIX              -- START_PAPERMILL_ARGUMENTS...
#
# LAYER is a virtual environment of requirements over the environment (environments/layers.py):
# activated after it, its Python runs papermill, and so the notebook's kernel.
#
# START_PAPERMILL_ARGUMENTS are start_papermill.py's (beside this script): the kernel check's
# values, if any, then -- and papermill's arguments.
#
# Every user value arrives as a positional argument and is only ever expanded inside
# double quotes: nothing a user supplies becomes shell text. The exit statuses 90-92, 94 and 95
# are this script's own; the hook turns them into messages (see run/launcher.py, which builds this command line).

# This shell moves itself into each of the run's cgroups before doing anything else, so
# everything it starts (conda, papermill, the kernel and their children) starts inside them.
while [ "${1:-}" = "--cgroup" ]; do
    echo "$$" > "$2" || exit 95
    shift 2
done

layer=
if [ "${1:-}" = "--layer" ]; then
    layer=$2
    shift 2
fi

mode=$1
shift
case "$mode" in
    conda)
        conda_sh=$1 env=$2
        shift 2
        # shellcheck disable=SC1090
        source "$conda_sh" || exit 90
        conda activate "$env" || exit 91
        ;;
    packed)
        prefix=$1
        shift
        # conda-unpack ran once, when the environment cache unpacked the archive.
        # shellcheck disable=SC1091
        source "$prefix/bin/activate" || exit 92
        ;;
    *)
        echo "run_notebook.sh: unknown mode '$mode'" >&2
        exit 2
        ;;
esac
[ "$1" = "--" ] && shift

# The environment's own papermill, never one found further down PATH, run by its own Python (its
# layer's, which sees the environment's packages, when there is one) after the kernel check (status 93: no kernel for the notebook).
[ -n "${CONDA_PREFIX:-}" ] && [ -x "$CONDA_PREFIX/bin/papermill" ] || exit 94
python=$CONDA_PREFIX/bin/python
if [ -n "$layer" ]; then
    export VIRTUAL_ENV="$layer" PATH="$layer/bin:$PATH"
    python=$layer/bin/python
fi
exec "$python" "${BASH_SOURCE[0]%/*}/start_papermill.py" "$@"
