/**
 * The CLI under test where the gateway's PKCE-native login is advertised to it (docs/contract.md
 * section 8.2, CLISSO-CLI-33): elsewhere in the CLI chapter the wire tap hides that login.
 */
import assert from 'node:assert/strict';
import { Given, Then, When } from '@cucumber/cucumber';
import type { ConformanceWorld } from '../support/world.ts';
import { loginWherePkceIsOffered } from '../tasks/cli-login.ts';
import { bearerOf, describeCredentials, keysFromTokenEndpoint } from '../tasks/cli-outcomes.ts';
import { nativeEndpoints } from '../tasks/native-cli.ts';

Given('the CLI finds the PKCE-native login the gateway advertises', async function (this: ConformanceWorld) {
  // The gateway is told it is served at the CLI's wire tap, so its discovery document names the
  // base URL the CLI is given; a gateway without the PKCE login is skipped here.
  this.gatewayOverrides.PROXY_BASE_URL = await this.offerPkceLoginToCli();
  await nativeEndpoints(this);
});

When(
  '{string} logs in with the CLI, approving in the browser what it asks',
  async function (this: ConformanceWorld, username: string) {
    this.state.cliOpenedWherePkceOffered = await loginWherePkceIsOffered(this, username);
  },
);

Then("the CLI sent the key the gateway's token endpoint handed it", async function (this: ConformanceWorld) {
  const endpoints = await nativeEndpoints(this);
  const keys = keysFromTokenEndpoint(this, new URL(endpoints.token_endpoint).pathname);
  const opened = this.state.cliOpenedWherePkceOffered ?? 'nothing';
  assert.ok(
    keys.length > 0,
    `the CLI got no key from the token endpoint: it did not use the PKCE login offered to it (it opened ${opened.split('?')[0]})\n${(await this.cli()).lastWords()}`,
  );
  const key = keys.at(-1) as string;
  const requests = this.cliModelsRequests ?? [];
  assert.ok(
    requests.some((r) => bearerOf(r) === key),
    `the CLI did not send the key the token endpoint handed it: ${describeCredentials(requests, key) || 'no request to the model routes'}`,
  );
});
