#!/usr/bin/env bash
# Install RS-OVSS's Python stack.
# Uses the active virtual environment if there is one (linked as ./.venv), else creates ./.venv.
# Idempotent: when every pin is already satisfied it only runs the import check.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if [[ -n "${VIRTUAL_ENV:-}" ]]; then
    PY="$VIRTUAL_ENV/bin/python"
    # .venv/bin/python (the README's commands) then works with the active environment too
    if [[ ! -e .venv ]]; then
        ln -s "$VIRTUAL_ENV" .venv
        echo "install.sh: using the active virtualenv $VIRTUAL_ENV (linked as .venv)"
    fi
else
    if [[ ! -x .venv/bin/python ]]; then
        echo "install.sh: creating .venv"
        python3 -m venv .venv
    fi
    PY=.venv/bin/python
fi

stamp=".venv-requirements.sha256"
[[ -n "${VIRTUAL_ENV:-}" ]] && stamp="$VIRTUAL_ENV/.rs-ovss-requirements.sha256"
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && "$PY" -m pip check >/dev/null 2>&1; then
    echo "install.sh: requirements already installed"
else
    "$PY" -m pip install --disable-pip-version-check -q -r requirements.txt
    echo "$want" > "$stamp"
fi

# Import check: the full stack, through the project's own entry point.
"$PY" -c "import mmcv_compat, customized_segmentor, custom_datasets, ovss.metric, ovss.evaluate, mmseg, open_clip, torch; print(f'install.sh: OK (torch {torch.__version__}, mmseg {mmseg.__version__}, open_clip {open_clip.__version__})')"
