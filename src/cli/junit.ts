/**
 * JUnit XML for an experiment, so a CI system can show and gate a prompt change: one test suite,
 * one test case per item (named by its seq and input), a `<failure>` for an item under the
 * threshold and an `<error>` for an item whose run did not complete.
 */

export interface JunitCase {
  name: string;
  /** Seconds. */
  time: number;
  failure?: string;
  error?: string;
  /** Printed as the case's system-out: the output and each score with its reason. */
  detail: string;
}

const escapeXml = (s: string) =>
  s
    // Characters XML 1.0 cannot carry at all.
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

export function junitXml(suite: string, cases: readonly JunitCase[]): string {
  const failures = cases.filter((c) => c.failure !== undefined).length;
  const errors = cases.filter((c) => c.error !== undefined).length;
  const time = cases.reduce((t, c) => t + c.time, 0);
  const body = cases.map((c) => {
    const inner = [
      c.error !== undefined && `      <error message="${escapeXml(c.error)}"/>`,
      c.failure !== undefined && `      <failure message="${escapeXml(c.failure)}"/>`,
      `      <system-out>${escapeXml(c.detail)}</system-out>`,
    ].filter(Boolean);
    return [
      `    <testcase classname="${escapeXml(suite)}" name="${escapeXml(c.name)}" time="${c.time.toFixed(3)}">`,
      ...inner,
      '    </testcase>',
    ].join('\n');
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites tests="${cases.length}" failures="${failures}" errors="${errors}" time="${time.toFixed(3)}">`,
    `  <testsuite name="${escapeXml(suite)}" tests="${cases.length}" failures="${failures}" errors="${errors}" time="${time.toFixed(3)}">`,
    ...body,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
