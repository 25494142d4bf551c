/**
 * The gateway's "Complete CLI Login" page (docs/contract.md section 2, callback): a form with a
 * labelled text input for the verification code and a hidden browser token. Located by role and
 * label, so it works on any gateway whose page is accessible; a gateway whose code input has no
 * label fails here, on purpose.
 */
import type { Locator, Page } from 'playwright-core';

export interface CompletionFormDetails {
  /** Absolute URL the form posts to. */
  action: string;
  method: string;
  browserCompleteToken: string;
}

export class CliCompletionPage {
  constructor(private readonly page: Page) {}

  private get form(): Locator {
    return this.page.locator('form').filter({ has: this.page.getByRole('textbox') });
  }

  private get heading(): Locator {
    return this.page.getByRole('heading', { name: /Complete CLI Login/i });
  }

  async waitUntilShown(timeoutMs: number): Promise<void> {
    await this.heading.waitFor({ timeout: timeoutMs });
  }

  async isShown(): Promise<boolean> {
    return (await this.heading.count()) > 0;
  }

  /** The labelled code field; throws when the page has none. */
  codeField(): Locator {
    return this.form.getByLabel(/code/i);
  }

  /** Type the code and submit, the way a person does; returns the status of the gateway's answer. */
  async enterCode(userCode: string): Promise<number> {
    await this.codeField().fill(userCode);
    const [response] = await Promise.all([
      this.page.waitForResponse((r) => r.request().method() === 'POST'),
      this.form.getByRole('button').first().click(),
    ]);
    await this.page.waitForLoadState();
    return response.status();
  }

  /** What the code field holds now (a gateway may have filled it in, docs/contract.md section 10.8). */
  async codeFieldValue(): Promise<string> {
    return this.codeField().inputValue();
  }

  /** Submit the form as it is, without typing; returns the status of the gateway's answer. */
  async submitAsShown(): Promise<number> {
    const [response] = await Promise.all([
      this.page.waitForResponse((r) => r.request().method() === 'POST'),
      this.form.getByRole('button').first().click(),
    ]);
    await this.page.waitForLoadState();
    return response.status();
  }

  async waitForSuccess(timeoutMs: number): Promise<void> {
    await this.page
      .getByText(/Authentication Successful/i)
      .first()
      .waitFor({ timeout: timeoutMs });
  }

  /** What the form would send besides the code: where, how, and the hidden browser token. */
  async formDetails(): Promise<CompletionFormDetails> {
    const form = this.form.first();
    const action = (await form.getAttribute('action')) ?? '';
    const method = ((await form.getAttribute('method')) ?? 'get').toUpperCase();
    const token =
      (await form.locator('input[type="hidden"][name="browser_complete_token"]').getAttribute('value')) ?? '';
    return { action: new URL(action, this.page.url()).toString(), method, browserCompleteToken: token };
  }
}
