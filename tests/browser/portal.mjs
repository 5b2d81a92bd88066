#!/usr/bin/env node
// portal.mjs — drives the demo portal page (agent/web/demo) in headless Chromium.
//
//   node portal.mjs --url http://localhost:PORT/ [--steps login,sign] [--screenshot FILE]
//
// Opens the page, waits until #agent-state says connected, then runs the steps in order:
//   login  clicks #login-button, waits for #login-result to succeed or fail (then #error)
//   sign   (optionally fills #document-name / #document-text), clicks #sign-button, waits
//          for #sign-result to succeed or fail; reads the CMS from #cms-base64
//   pdf    chooses --pdf FILE in #pdf-file, clicks #sign-pdf-button, waits for
//          #sign-pdf-result; with --save-pdf FILE saves the signed PDF from #pdf-download
// Options:
//   --steps LIST          comma-separated, default login,sign ("" = only load and wait)
//   --document-name NAME  --document-text TEXT   what to sign (default: the page's)
//   --save-cms FILE       click the page's .p7s download link and save the file there
//   --pdf FILE            the PDF the pdf step signs   --save-pdf FILE  where to save it
//   --screenshot FILE     full-page PNG at the end
//   --connect-timeout MS  wait for "connected" (default 15000)
//   --step-timeout MS     per step (default 60000)    --timeout MS whole run (default 180000)
//
// Prints one JSON line:
//   {"agentState": "connected", "tokens": "...", "login": "Welcome, …", "sign": "Signed by …",
//    "cms": "<base64>", "error": "PIN_INCORRECT (2 tries left): …", "errorCode": "PIN_INCORRECT",
//    "errors": {"login": …, "sign": …}, "steps": {"login": "ok"|"error"|"timeout"|"skipped"},
//    "download": {"file", "suggested", "bytes"}, "pdf": "Signed by …", "pdfDownload": {…},
//    "console": ["warning: …", …]}
// "error" is the first error a step showed. Exit 0 when it could run (assertions belong
// to the caller); non-zero on a crash.

import { parseArgs, launch, runDriver } from './lib.mjs';

const args = parseArgs(process.argv.slice(2), {
  defaults: { steps: 'login,sign', 'connect-timeout': '15000', 'step-timeout': '60000', timeout: '180000' },
});

const STEP_ELEMENTS = {
  login: { button: '#login-button', result: '#login-result' },
  sign: { button: '#sign-button', result: '#sign-result' },
  pdf: { button: '#sign-pdf-button', result: '#sign-pdf-result' },
};

await runDriver(async ({ onCleanup }) => {
  if (!args.url) throw new Error('give --url http://localhost:PORT/');
  const steps = String(args.steps).split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of steps) if (!STEP_ELEMENTS[s]) throw new Error(`unknown step ${s} (login, sign, pdf)`);

  const { browser, context } = await launch({ contextOptions: { acceptDownloads: true } });
  onCleanup(() => browser.close());
  const page = await context.newPage();
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));

  const out = {
    agentState: null,
    tokens: null,
    login: null,
    sign: null,
    cms: null,
    error: null,
    errorCode: null,
    errors: {},
    steps: {},
    console: consoleLines,
  };
  const text = async (sel) => ((await page.locator(sel).innerText()) || '').trim();

  await page.goto(args.url, { waitUntil: 'load' });
  try {
    await page.waitForSelector('#agent-state[data-state="connected"]', { state: 'attached', timeout: Number(args['connect-timeout']) });
    // the token list is filled right after connecting; give it a moment
    await page.waitForFunction(() => document.querySelector('#tokens').children.length > 0, null, { timeout: 3000 }).catch(() => {});
  } catch (_) {
    // not connected: report the state, run no step
  }
  out.agentState = await page.locator('#agent-state').getAttribute('data-state');
  out.agentStateText = await text('#agent-state');
  out.tokens = await text('#tokens');

  for (const step of steps) {
    if (out.agentState !== 'connected') {
      out.steps[step] = 'skipped';
      continue;
    }
    const el = STEP_ELEMENTS[step];
    if (step === 'sign') {
      if (args['document-name'] !== undefined) await page.fill('#document-name', args['document-name']);
      if (args['document-text'] !== undefined) await page.fill('#document-text', args['document-text']);
    }
    if (step === 'pdf') {
      if (!args.pdf) throw new Error('the pdf step needs --pdf FILE');
      await page.setInputFiles('#pdf-file', args.pdf);
    }
    await page.waitForSelector(`${el.button}:not([disabled])`, { timeout: Number(args['step-timeout']) });
    await page.click(el.button);
    try {
      await page.waitForSelector(`${el.result}[data-state="ok"], ${el.result}[data-state="error"]`, { state: 'attached', timeout: Number(args['step-timeout']) });
      out.steps[step] = await page.locator(el.result).getAttribute('data-state');
    } catch (_) {
      out.steps[step] = 'timeout';
    }
    out[step] = await text(el.result);
    const err = await text('#error');
    if (err) {
      out.errors[step] = err;
      if (!out.error) {
        out.error = err;
        out.errorCode = await page.locator('#error').getAttribute('data-code');
      }
    }
    if (step === 'pdf' && args['save-pdf'] && (await page.locator('#pdf-download').isVisible())) {
      const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#pdf-download')]);
      await dl.saveAs(args['save-pdf']);
      const fs = await import('node:fs');
      out.pdfDownload = { file: args['save-pdf'], suggested: dl.suggestedFilename(), bytes: fs.statSync(args['save-pdf']).size };
    }
    if (step === 'sign') {
      out.cms = ((await page.locator('#cms-base64').textContent()) || '').trim() || null; // inside a closed <details>: not rendered
      if (args['save-cms'] && out.cms && (await page.locator('#cms-download').isVisible())) {
        const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#cms-download')]);
        await dl.saveAs(args['save-cms']);
        const fs = await import('node:fs');
        out.download = { file: args['save-cms'], suggested: dl.suggestedFilename(), bytes: fs.statSync(args['save-cms']).size };
      }
    }
  }
  out.tokens = await text('#tokens');
  if (args.screenshot) await page.screenshot({ path: args.screenshot, fullPage: true });
  return out;
}, { timeoutMs: Number(args.timeout) });
