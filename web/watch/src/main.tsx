/** Entry of the viewer watch page (served at /watch/). */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { CssBaseline, ThemeProvider } from '@mui/material';
import { theme } from '../../common/theme.ts';
import { setLocale, t } from '../../common/i18n.ts';
import { App } from './App.tsx';

setLocale(navigator.language);
document.title = `${t('common.appName')} — ${t('watch.title')}`;
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ThemeProvider theme={theme}>
      <CssBaseline />
      <App />
    </ThemeProvider>
  </StrictMode>,
);
