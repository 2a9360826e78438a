# teleconsultation-backend: the two commands a newcomer needs, and a few more.
.PHONY: run run-auth0 test bench build release deb clean

## run: installs what is missing, builds, starts stand-ins + app + nginx on 127.0.0.1:8080
run:
	scripts/run.sh

## run-auth0: the same in auth0 mode (stand-in auth0-client with two seeded users)
run-auth0:
	MODE=auth0 scripts/run.sh

## test: installs what is missing, builds once, runs every test (unit and end-to-end)
test:
	scripts/test.sh

## bench: release build, then wrk through nginx: nginx itself, a C libfcgi responder and the service, side by side
bench:
	bench/run.sh

build:
	swift build

## release: the release binary, with the Swift runtime linked in (.build-release/release/)
release:
	scripts/build-release.sh

## deb: the Debian package (dist/teleconsultation-backend_VERSION_ARCH.deb), built with dpkg-deb
deb:
	scripts/make-deb.sh

clean:
	rm -rf .build .build-release dist
