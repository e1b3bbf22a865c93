# Release sources (daemon/release): fuzz targets for every feed decoder.
# Their seed corpora run in `make test` (go test ./...); `make fuzz` runs them longer.
EXTRA_FUZZ += ./daemon/release:FuzzHubPage
EXTRA_FUZZ += ./daemon/release:FuzzGitHubPage
EXTRA_FUZZ += ./daemon/release:FuzzTagList
EXTRA_FUZZ += ./daemon/release:FuzzReleaseFile
EXTRA_FUZZ += ./daemon/release:FuzzLink
EXTRA_FUZZ += ./daemon/release:FuzzChallenge
