/** A page section: a card with a heading (h2) and its content. */
import { useId, type ReactNode } from 'react';
import { Paper, Typography } from '@mui/material';

export function Section({ title, children, testId }: { title: string; children: ReactNode; testId?: string }) {
  const id = useId();
  return (
    <Paper component="section" aria-labelledby={id} data-testid={testId} sx={{ p: { xs: 2, sm: 3 }, mb: 2 }}>
      <Typography id={id} component="h2" variant="h6" sx={{ mb: 1.5 }}>{title}</Typography>
      {children}
    </Paper>
  );
}
