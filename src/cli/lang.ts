/**
 * The language of the command line's own output (errors always show both): PULSELOOP_LANG (`en` or
 * `zh`), else the locale (LC_ALL, LC_MESSAGES, LANG) when it is Chinese, else English.
 */
export type CliLanguage = 'en' | 'zh';

export function cliLanguage(env: NodeJS.ProcessEnv = process.env): CliLanguage {
  const chosen = env.PULSELOOP_LANG?.trim().toLowerCase();
  if (chosen) {
    if (chosen.startsWith('zh')) return 'zh';
    if (chosen.startsWith('en')) return 'en';
  }
  // The first locale variable that is set decides, as for any program (LC_ALL overrides LANG).
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return locale.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

const language = cliLanguage();

/** Warns once, at start, about a PULSELOOP_LANG the command line cannot speak. */
export function warnAboutUnknownLanguage(env: NodeJS.ProcessEnv = process.env): void {
  const chosen = env.PULSELOOP_LANG?.trim().toLowerCase();
  if (chosen && !chosen.startsWith('zh') && !chosen.startsWith('en')) {
    process.stderr.write(
      `pulseloop: PULSELOOP_LANG="${chosen.slice(0, 20)}" is neither en nor zh; using ${language}.\n` +
        `           PULSELOOP_LANG="${chosen.slice(0, 20)}" 既不是 en 也不是 zh，使用 ${language}。\n`,
    );
  }
}

/** The text in the command line's language. */
export function say(en: string, zh: string): string {
  return language === 'zh' ? zh : en;
}

/** Numbers as the command line's language writes them (both group by thousands with commas). */
export const integer = new Intl.NumberFormat(language === 'zh' ? 'zh-CN' : 'en-US', {
  maximumFractionDigits: 0,
});
