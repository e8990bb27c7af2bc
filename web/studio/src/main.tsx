/** Entry of the performer studio (served at /studio/). */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { CssBaseline, ThemeProvider } from '@mui/material';
import { theme } from '../../common/theme.ts';
import { setLocale } from '../../common/i18n.ts';
import { App } from './App.tsx';

setLocale(navigator.language);
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ThemeProvider theme={theme}>
      <CssBaseline />
      <App />
    </ThemeProvider>
  </StrictMode>,
);
