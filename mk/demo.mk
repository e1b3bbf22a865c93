# `make demo-plan`: the decision half (release feed → path and held releases),
# no Docker needed.
.PHONY: demo-plan
demo-plan: build
	@contrib/demo/plan-demo.sh
