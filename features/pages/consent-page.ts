/**
 * The gateway's consent page of the PKCE-native login (docs/contract.md section 10.6): who asks and
 * as whom, the team choice (none, a hidden field with one team, a list with several) and the two
 * buttons, Approve and Deny. Only what any gateway's page must have is relied on: the form's
 * fields and the buttons' names.
 */
import type { Page } from 'playwright-core';

export class ConsentPage {
  constructor(private readonly page: Page) {}

  async waitUntilShown(): Promise<void> {
    await this.page.getByRole('button', { name: 'Approve', exact: true }).waitFor();
  }

  /** The page's visible text. */
  async text(): Promise<string> {
    await this.waitUntilShown();
    return (await this.page.locator('body').textContent()) ?? '';
  }

  /** The team choice: the values of the list's options, or of the one hidden field, or none. */
  async teamChoice(): Promise<{ kind: 'list' | 'hidden' | 'none'; teams: string[] }> {
    await this.waitUntilShown();
    const options = await this.page
      .locator('select[name="team_id"] option')
      .evaluateAll((nodes) => nodes.map((node) => node.getAttribute('value') ?? ''));
    if (options.length > 0) return { kind: 'list', teams: options };
    const hidden = await this.page
      .locator('input[type="hidden"][name="team_id"]')
      .evaluateAll((nodes) => nodes.map((node) => node.getAttribute('value') ?? ''));
    return hidden.length > 0 ? { kind: 'hidden', teams: hidden } : { kind: 'none', teams: [] };
  }

  async chooseTeam(teamId: string): Promise<void> {
    await this.waitUntilShown();
    await this.page.locator('select[name="team_id"]').selectOption(teamId);
  }

  async approve(): Promise<void> {
    await this.waitUntilShown();
    await this.page.getByRole('button', { name: 'Approve', exact: true }).click();
  }

  async deny(): Promise<void> {
    await this.waitUntilShown();
    await this.page.getByRole('button', { name: 'Deny', exact: true }).click();
  }
}
