# Debian packages the tests use. Installed once by `make ci-deps` (.ci/run);
# on a developer machine run it once too.
APT_PACKAGES := postgresql-15 postgresql-client-15 prometheus redis-server systemd git ca-certificates

.PHONY: apt-deps
apt-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "apt packages present"; fi

CI_DEPS += apt-deps
