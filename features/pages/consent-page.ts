/**
 * The gateway's consent page of the PKCE-native login (docs/contract.md section 10.6): who asks and
 * as whom, the team choice (none, a hidden field with one team, a list with several) and the two
 * buttons, Approve and Deny. Only what any gateway's page must have is relied on: the form's
 * fields and the buttons' names.
 */
import type { Page } from 'playwright-core';

/** A consent form as Approve would post it: the absolute address and the named fields, in order. */
export interface ConsentForm {
  action: string;
  fields: Array<[string, string]>;
}

/** A gateway's answer to a form post, as the browser received it (a redirect is not followed). */
export interface PostedForm {
  status: number;
  headers: Record<string, string>;
  text: string;
}

export class ConsentPage {
  constructor(private readonly page: Page) {}

  async waitUntilShown(): Promise<void> {
    await this.page.getByRole('button', { name: 'Approve', exact: true }).waitFor();
  }

  /**
   * Where the browser settled after the IdP sent it back: once it shows a page of `gatewayOrigin`
   * (the sign-in's redirects commit no page, so that is the consent page or a refusal), whether it is
   * the consent page, and how many of its elements have an id that starts with `idPrefix`.
   */
  async settledOn(gatewayOrigin: string, idPrefix: string): Promise<{ consentShown: boolean; elements: number }> {
    await this.page.waitForURL((url) => url.origin === gatewayOrigin);
    const consentShown = (await this.page.getByRole('button', { name: 'Approve', exact: true }).count()) > 0;
    const elements = await this.page.locator(`[id^="${idPrefix}"]`).count();
    return { consentShown, elements };
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

  /** The form Approve submits: its address and the fields it would post, the button's own included. */
  async approvalForm(): Promise<ConsentForm> {
    await this.waitUntilShown();
    return this.page.getByRole('button', { name: 'Approve', exact: true }).evaluate((node) => {
      const button = node as HTMLButtonElement;
      const form = button.form;
      if (!form) throw new Error('the Approve button is in no form');
      const fields: Array<[string, string]> = [];
      new FormData(form, button).forEach((value, name) => {
        fields.push([name, String(value)]);
      });
      return { action: form.action, fields };
    });
  }

  /**
   * Post `form` from this page with the browser's cookies, as a form someone else wrote would be
   * posted; the gateway's answer to that post (a redirect is the answer, not where it leads).
   */
  async postForm(form: ConsentForm): Promise<PostedForm> {
    const target = new URL(form.action);
    const answered = this.page.waitForResponse((response) => {
      const url = new URL(response.url());
      return response.request().method() === 'POST' && url.origin === target.origin && url.pathname === target.pathname;
    });
    await this.page.evaluate((posted) => {
      const element = document.createElement('form');
      element.method = 'POST';
      element.action = posted.action;
      for (const [name, value] of posted.fields) {
        const input = document.createElement('input');
        input.type = 'hidden';
        input.name = name;
        input.value = value;
        element.append(input);
      }
      document.body.append(element);
      element.submit();
    }, form);
    const response = await answered;
    // A redirect's body cannot be read; its status and Location are what tell.
    const text = await response.text().catch(() => '');
    return { status: response.status(), headers: await response.allHeaders(), text };
  }

  async deny(): Promise<void> {
    await this.waitUntilShown();
    await this.page.getByRole('button', { name: 'Deny', exact: true }).click();
  }
}
