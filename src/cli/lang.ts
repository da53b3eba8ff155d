/**
 * The language of the command line's own output (errors always show both): PULSELOOP_LANG (`en` or
 * `zh`), else the locale (LC_ALL, LC_MESSAGES, LANG) when it is Chinese, else English.
 */
export type CliLanguage = 'en' | 'zh';

function languageOf(env: NodeJS.ProcessEnv): { language: CliLanguage; unknownChoice?: string } {
  const chosen = env.PULSELOOP_LANG?.trim().toLowerCase();
  if (chosen?.startsWith('zh')) return { language: 'zh' };
  if (chosen?.startsWith('en')) return { language: 'en' };
  // The first locale variable that is set decides, as for any program (LC_ALL overrides LANG).
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  const language = locale.toLowerCase().startsWith('zh') ? 'zh' : 'en';
  return chosen ? { language, unknownChoice: chosen.slice(0, 20) } : { language };
}

const { language, unknownChoice } = languageOf(process.env);

/** Warns once, at start, about a PULSELOOP_LANG the command line cannot speak. */
export function warnAboutUnknownLanguage(): void {
  if (unknownChoice === undefined) return;
  process.stderr.write(
    `pulseloop: PULSELOOP_LANG="${unknownChoice}" is neither en nor zh; using ${language}.\n` +
      `           PULSELOOP_LANG="${unknownChoice}" 既不是 en 也不是 zh，使用 ${language}。\n`,
  );
}

/** The text in the command line's language. */
export function say(en: string, zh: string): string {
  return language === 'zh' ? zh : en;
}

/** Numbers as the command line's language writes them (both group by thousands with commas). */
export const integer = new Intl.NumberFormat(language === 'zh' ? 'zh-CN' : 'en-US', {
  maximumFractionDigits: 0,
});
