import { theme as antdTheme, ConfigProvider } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn';
import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router-dom';
import { App } from './App';
import { defaultLang, type Lang, LangContext } from './i18n';

function Root() {
  const [lang, setLang] = useState<Lang>(defaultLang);
  const [theme, setTheme] = useState<'light' | 'dark'>(() =>
    localStorage.getItem('pulseloop.theme') === 'dark' ? 'dark' : 'light',
  );
  dayjs.locale(lang === 'zh' ? 'zh-cn' : 'en');
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  return (
    <ConfigProvider
      locale={lang === 'zh' ? zhCN : enUS}
      theme={{ algorithm: theme === 'dark' ? antdTheme.darkAlgorithm : antdTheme.defaultAlgorithm }}
    >
      <LangContext.Provider value={lang}>
        <BrowserRouter>
          <App
            theme={theme}
            onLang={(l) => {
              localStorage.setItem('pulseloop.lang', l);
              setLang(l);
            }}
            onTheme={(t) => {
              localStorage.setItem('pulseloop.theme', t);
              setTheme(t);
            }}
          />
        </BrowserRouter>
      </LangContext.Provider>
    </ConfigProvider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Root />
  </StrictMode>,
);
