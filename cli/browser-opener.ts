/**
 * Open the login URL in a browser, the way LiteLLM's CLI does through Python's `webbrowser`
 * (docs/contract.md section 8): the `BROWSER` variable is a `:`-separated list of commands, tried
 * in order; in each, `%s` is replaced by the URL, else the URL is appended. Without `BROWSER`, the
 * platform opener (the `open` package: xdg-open, open, start). The browser is spawned detached and
 * never waited on: the CLI has already printed the URL and goes on polling.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Env } from '../common/config.ts';

export interface OpenResult {
  opened: boolean;
  /** What was run, or why nothing was (for the person reading stderr). */
  how: string;
}

/** Split one `BROWSER` entry into words, honouring single and double quotes (as shlex does). */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const char = line.charAt(i);
    if (quote) {
      if (char === quote) quote = undefined;
      else if (char === '\\' && quote === '"' && i + 1 < line.length) current += line.charAt(++i);
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      inWord = true;
    } else if (char === '\\' && i + 1 < line.length) {
      current += line.charAt(++i);
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += char;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

/** The commands `BROWSER` asks for, each as argv with the URL put in place. */
export function browserCommands(browserVariable: string, url: string): string[][] {
  return browserVariable
    .split(':')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const words = splitCommandLine(entry);
      return words.some((w) => w.includes('%s')) ? words.map((w) => w.replaceAll('%s', url)) : [...words, url];
    })
    .filter((argv) => argv.length > 1);
}

/** Resolves once the child has started (or failed to); never waits for it to exit. */
function started(child: ChildProcess): Promise<boolean> {
  return new Promise((resolve) => {
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
    child.once('error', () => resolve(false));
  });
}

export interface OpenBrowserOptions {
  url: string;
  env: Env;
  platform: NodeJS.Platform;
  /** The platform opener; the `open` package unless a test gives another. */
  openWithPlatform?: (url: string) => Promise<ChildProcess>;
}

export async function openBrowser(options: OpenBrowserOptions): Promise<OpenResult> {
  const browserVariable = options.env['BROWSER'];
  if (browserVariable !== undefined && browserVariable.trim() !== '') {
    for (const [command, ...args] of browserCommands(browserVariable, options.url)) {
      if (command === undefined) continue;
      const child = spawn(command, args, { detached: true, stdio: 'ignore', env: { ...options.env } });
      if (await started(child)) return { opened: true, how: `started ${command} (from BROWSER)` };
    }
    return { opened: false, how: 'no command in BROWSER could be started' };
  }
  // On a Linux machine without a graphical session (ssh, containers) xdg-open can only fail: say so.
  const headless = options.platform === 'linux' && !options.env['DISPLAY'] && !options.env['WAYLAND_DISPLAY'];
  if (headless) return { opened: false, how: 'no graphical session here (DISPLAY and WAYLAND_DISPLAY are unset)' };
  try {
    const child = await (options.openWithPlatform ?? openWithSystem)(options.url);
    // `open` has already spawned the opener; a late failure must not crash the login.
    child.once('error', () => undefined);
    return { opened: true, how: 'asked the system to open it' };
  } catch {
    return { opened: false, how: 'the system has no browser opener' };
  }
}

async function openWithSystem(url: string): Promise<ChildProcess> {
  const { default: open } = await import('open');
  return open(url, { wait: false });
}
