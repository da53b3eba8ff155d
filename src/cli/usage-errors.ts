/**
 * commander's usage errors ("error: unknown option '--prot'") in both languages: its English as it
 * is, then the same in Chinese, as every other error of the command line is said.
 */

const USAGE_ERRORS_ZH: [RegExp, (...groups: string[]) => string][] = [
  [/^error: required option '(.+)' not specified$/, (option) => `错误：缺少必需的选项 '${option}'`],
  [/^error: unknown command '(.+)'$/, (name) => `错误：未知命令 '${name}'`],
  [/^error: unknown option '(.+)'$/, (option) => `错误：未知选项 '${option}'`],
  [/^error: missing required argument '(.+)'$/, (name) => `错误：缺少必需的参数 '${name}'`],
  [/^error: option '(.+)' argument missing$/, (option) => `错误：选项 '${option}' 缺少值`],
  [
    /^error: too many arguments(?: for '(.+)')?\. Expected (\d+) arguments? but got (\d+)\.$/,
    (command, expected, got) =>
      `错误：${command ? `'${command}' 的` : ''}参数过多，应为 ${expected} 个，实际为 ${got} 个。`,
  ],
  [/^\(Did you mean one of (.+)\?\)$/, (names) => `（是否想输入以下之一：${names}？）`],
  [/^\(Did you mean (.+)\?\)$/, (name) => `（是否想输入 ${name}？）`],
];

/** The Chinese of one line of commander's error output, or undefined when it is not one we know. */
function lineZh(line: string): string | undefined {
  for (const [pattern, say] of USAGE_ERRORS_ZH) {
    const match = pattern.exec(line);
    if (match) return say(...match.slice(1).map((group) => group ?? ''));
  }
  return undefined;
}

/** commander's error text followed by its Chinese (the lines known here; others stay English only). */
export function usageErrorInBothLanguages(text: string): string {
  const lines = text.replace(/\n$/, '').split('\n');
  const zh = lines.map(lineZh).filter((line): line is string => line !== undefined);
  return `${[...lines, ...zh].join('\n')}\n`;
}
