/** The console's themes: react-admin's defaults made compact (fits 1366×768 and a 1024×768 tablet). */
import { deepmerge } from '@mui/utils';
import type { ThemeOptions } from '@mui/material';
import { defaultDarkTheme, defaultLightTheme } from 'react-admin';

const compact: ThemeOptions = {
  typography: { fontSize: 13, fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif' },
  sidebar: { width: 184, closedWidth: 50 },
  spacing: 7,
  components: {
    MuiTableCell: { defaultProps: { size: 'small' }, styleOverrides: { sizeSmall: { padding: '4px 8px' } } },
    MuiButton: { defaultProps: { size: 'small' } },
    MuiIconButton: { defaultProps: { size: 'small' } },
    MuiListItemIcon: { styleOverrides: { root: { minWidth: 40 } } },
    MuiCardContent: { styleOverrides: { root: { padding: 12, '&:last-child': { paddingBottom: 12 } } } },
  },
};

// primary #1558b0: 6.5:1 against white text, so a button caught mid-transition (hover, ripple) stays above
// WCAG AA's 4.5:1 (react-admin's default blue is 4.6:1 at rest and drops below it while it animates)
export const lightTheme: ThemeOptions = deepmerge(defaultLightTheme, deepmerge(compact, {
  palette: { primary: { main: '#1558b0' }, background: { default: '#f4f5f7' }, text: { secondary: 'rgba(0,0,0,0.66)' } },
}));

export const darkTheme: ThemeOptions = deepmerge(defaultDarkTheme, deepmerge(compact, {
  palette: { background: { default: '#1e1f22', paper: '#2a2b2f' } },
}));
