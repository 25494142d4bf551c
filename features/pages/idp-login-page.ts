/**
 * The mock IdP's sign-in page (mock-idp/README.md): heading "Sign in to Mock IdP", a
 * "Sign in as <user>" button per user, a Username/Password form and a "Deny" button.
 */
import type { Page } from 'playwright-core';

export class IdpLoginPage {
  constructor(private readonly page: Page) {}

  async waitUntilShown(): Promise<void> {
    await this.page.getByRole('heading', { name: 'Sign in to Mock IdP' }).waitFor();
  }

  async signInAs(username: string): Promise<void> {
    await this.waitUntilShown();
    await this.page.getByRole('button', { name: `Sign in as ${username}`, exact: true }).click();
  }

  async signInWithPassword(username: string, password: string): Promise<void> {
    await this.waitUntilShown();
    await this.page.getByLabel('Username').fill(username);
    await this.page.getByLabel('Password').fill(password);
    await this.page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }

  async deny(): Promise<void> {
    await this.waitUntilShown();
    await this.page.getByRole('button', { name: 'Deny', exact: true }).click();
  }
}
