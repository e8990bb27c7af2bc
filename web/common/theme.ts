/**
 * The web apps' MUI theme: system light/dark, colours chosen for WCAG 2.1 AA contrast (4.5:1 for text on
 * their backgrounds), a visible focus ring for keyboard users, and touch targets of at least 44 px.
 */
import { createTheme } from '@mui/material/styles';

export const theme = createTheme({
  colorSchemes: { light: true, dark: true },
  palette: {
    primary: { main: '#1d4ed8' },   // 6.7:1 on white
    error: { main: '#b91c1c' },     // 6.5:1 on white
    warning: { main: '#92400e' },   // 7.1:1 on white
    success: { main: '#166534' },   // 7.1:1 on white
  },
  components: {
    MuiButtonBase: { defaultProps: { disableRipple: false } },
    MuiButton: { styleOverrides: { root: { minHeight: 44, '&.Mui-focusVisible': { outline: '3px solid #f59e0b', outlineOffset: 2 } } } },
    MuiIconButton: { styleOverrides: { root: { minWidth: 44, minHeight: 44, '&.Mui-focusVisible': { outline: '3px solid #f59e0b', outlineOffset: 2 } } } },
  },
});
