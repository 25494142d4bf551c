/**
 * The gateway's "Complete CLI Login" page (protocol.md section 2, callback): a form with a labelled
 * text input for the verification code. Located by role and label, so it works on any gateway whose
 * page is accessible; a gateway whose code input has no label fails here, on purpose.
 */
import type { Locator, Page } from 'playwright-core';

export class CliCompletionPage {
  constructor(private readonly page: Page) {}

  private get form(): Locator {
    return this.page.locator('form').filter({ has: this.page.getByRole('textbox') });
  }

  async waitUntilShown(timeoutMs: number): Promise<void> {
    await this.page.getByRole('heading', { name: /Complete CLI Login/i }).waitFor({ timeout: timeoutMs });
  }

  async enterCode(userCode: string): Promise<void> {
    await this.form.getByLabel(/code/i).fill(userCode);
    await this.form.getByRole('button').first().click();
  }

  async waitForSuccess(timeoutMs: number): Promise<void> {
    await this.page
      .getByText(/Authentication Successful/i)
      .first()
      .waitFor({ timeout: timeoutMs });
  }
}
