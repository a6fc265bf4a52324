# `sam build` (every function has `BuildMethod: makefile`, built in source; see samconfig.toml)
# calls one `build-<Function>` target per function. The first one builds every function in ONE
# cargo invocation (`cargo lambda build --profile lambda`: zig, size-optimised, fat LTO, stripped); the others find that
# build done (cargo has nothing left to do) and only copy their binary.
#
#   make lambdas                    # the same build by hand; binaries in $(TARGET_DIR)/lambda/<bin>/bootstrap
#   LAMBDA_FLAGS=--arm64 sam build  # Graviton (needs the aarch64 Rust target where you build)

PACKAGES := -p iron-athletes-api -p iron-access-api -p iron-webhooks-api -p iron-docs-api -p iron-members-api -p iron-locations-api -p iron-checkin-api -p iron-bulk-api -p iron-challenges-api -p iron-analytics-api -p iron-webhook-dispatcher -p iron-jobs-worker -p iron-integrations-api -p iron-sync-worker
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
LAMBDA_FLAGS ?=

.PHONY: lambdas
lambdas:
	cargo lambda build --profile lambda $(LAMBDA_FLAGS) $(PACKAGES)

define function
.PHONY: build-$(1)Function
build-$(1)Function: lambdas
	cp $(TARGET_DIR)/lambda/$(2)/bootstrap $$(ARTIFACTS_DIR)/bootstrap
endef

$(eval $(call function,AthletesApi,athletes-api))
$(eval $(call function,AccessApi,access-api))
$(eval $(call function,WebhooksApi,webhooks-api))
$(eval $(call function,DocsApi,docs-api))
$(eval $(call function,MembersApi,members-api))
$(eval $(call function,LocationsApi,locations-api))
$(eval $(call function,CheckinApi,checkin-api))
$(eval $(call function,BulkApi,bulk-api))
$(eval $(call function,ChallengesApi,challenges-api))
$(eval $(call function,AnalyticsApi,analytics-api))
$(eval $(call function,WebhookDispatcher,webhook-dispatcher))
$(eval $(call function,JobsWorker,jobs-worker))
$(eval $(call function,IntegrationsApi,integrations-api))
$(eval $(call function,SyncWorker,sync-worker))
