# A test double of conda's etc/profile.d/conda.sh, for machines without conda.
#
# It keeps only the activation contract the provider relies on: `conda activate NAME`
# finds <root>/envs/NAME (a value with a '/' is taken as a prefix path), exports
# CONDA_PREFIX, CONDA_DEFAULT_ENV and CONDA_SHLVL, puts <prefix>/bin first on PATH, and
# sources <prefix>/etc/conda/activate.d/*.sh; an unknown environment fails with status 1.
# <root> is the folder two levels above this file, as in a real conda installation.

_CONDA_DOUBLE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

conda() {
    if [ "${1:-}" != "activate" ]; then
        echo "conda (test double): only 'conda activate' is supported" >&2
        return 2
    fi
    local target="${2:-base}" prefix script
    case "$target" in
        */*) prefix="$target" ;;
        base) prefix="$_CONDA_DOUBLE_ROOT" ;;
        *) prefix="$_CONDA_DOUBLE_ROOT/envs/$target" ;;
    esac
    if [ ! -d "$prefix/conda-meta" ]; then
        echo "EnvironmentNameNotFound: Could not find conda environment: $target" >&2
        return 1
    fi
    export CONDA_PREFIX="$prefix"
    export CONDA_DEFAULT_ENV="$target"
    export CONDA_SHLVL=$(( ${CONDA_SHLVL:-0} + 1 ))
    export PATH="$prefix/bin:$PATH"
    for script in "$prefix"/etc/conda/activate.d/*.sh; do
        # shellcheck disable=SC1090
        [ -f "$script" ] && . "$script"
    done
    return 0
}
