# pyk8s: `make run` starts a cluster, `make test` runs the whole suite.
# Both first bring the machine up to date (Debian packages, .venv); both are
# idempotent and quick when nothing changed.

VENV      := .venv
PY        := $(VENV)/bin/python
DATA_DIR  ?= $(CURDIR)/data
APT_PKGS  := sqlite3 ca-certificates \
             containerd runc containernetworking-plugins iptables conntrack iproute2 \
             busybox-static umoci skopeo docker-registry gcc libc6-dev etcd-server etcd-client
STAMP     := $(VENV)/.installed

.PHONY: run test deps unit integration e2e bench clean

deps: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo "installing pyk8s and its dependencies into $(VENV)"
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

run: deps
	$(VENV)/bin/pyk8s server --data-dir $(DATA_DIR)

test: deps
	$(PY) -m pytest -q -p no:cacheprovider tests

unit: deps
	$(PY) -m pytest -q tests/unit

integration: deps
	$(PY) -m pytest -q tests/integration

e2e: deps
	$(PY) -m pytest -q tests/e2e

bench: deps
	$(PY) bench/api_bench.py

clean:
	rm -rf $(VENV) $(DATA_DIR) .pytest_cache
