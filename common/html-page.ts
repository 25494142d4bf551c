/**
 * The HTML document around every page our servers show (the mock IdP's sign-in pages, the
 * gateway's completion and UI pages): language, charset, viewport, title and a page's own style.
 * The title is escaped here; the body is the caller's, already escaped.
 */
import escapeHtml from 'escape-html';

export interface HtmlPage {
  title: string;
  /** Already-escaped HTML placed inside <main>. */
  body: string;
  css: string;
  /** Keep the page's URL (with its login id) out of Referer headers. */
  noReferrer?: boolean;
}

export function htmlPage(page: HtmlPage): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${page.noReferrer ? '<meta name="referrer" content="no-referrer">\n' : ''}<title>${escapeHtml(page.title)}</title>
<style>
${page.css.trim()}
</style>
</head>
<body>
<main>
${page.body}
</main>
</body>
</html>
`;
}
