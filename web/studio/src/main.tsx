/** Entry of the studio app (placeholder until its pages land). */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { CssBaseline, ThemeProvider, Typography } from '@mui/material';
import { theme } from '../../common/theme.ts';
import { setLocale, t } from '../../common/i18n.ts';

setLocale(navigator.language);
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ThemeProvider theme={theme}>
      <CssBaseline />
      <Typography component="h1" variant="h4" sx={{ m: 2 }}>{t('studio.title')}</Typography>
    </ThemeProvider>
  </StrictMode>,
);
