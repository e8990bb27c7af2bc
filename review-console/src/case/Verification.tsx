/**
 * A verification case: the ID document and the selfie side by side (shown as they are, not blurred: they are
 * identity documents, and the moderator's job is to compare them), the date of birth and the age on the day of
 * the check, face counts and estimated ages, and the face-match distance against its threshold with a clear
 * match / no-match. The images load only here, when the case is opened (never in the queue); each load is
 * audited by the server. Approve and reject are the case's decisions (Decisions.tsx, keys `a` and `j`).
 */
import { Box, Card, CardContent, Chip, Tooltip, Typography } from '@mui/material';
import CheckCircleIcon from '@mui/icons-material/CheckCircle';
import ErrorIcon from '@mui/icons-material/Error';
import { when } from '../hooks';
import type { CaseDetail } from '../types';

/** The verification behind a case, as GET /api/cases/:id returns it (`verification`). */
export interface CaseVerification {
  id: string;
  status: 'pending' | 'approved' | 'rejected' | 'revoked';
  method: string;
  dateOfBirth: string | null;
  ageYears: number | null;
  checkedOn: string | null;
  faces: { document: number | null; selfie: number | null };
  estimatedAge: { document: number | null; selfie: number | null };
  distance: number | null;
  threshold: number | null;
  match: boolean | null;
  documentUrl: string | null;
  selfieUrl: string | null;
  imagesDeletedAt: string | null;
  decidedAt: string | null;
  expiresAt: string | null;
  decisionReason: string | null;
  createdAt: string;
  /** What the automatic checks found (the parts the panel shows). */
  checks?: { document?: { trailingBytes?: number }; selfie?: { trailingBytes?: number } };
}

/** The verification of a case detail, when it is a verification case. */
export function verificationOf(c: CaseDetail): CaseVerification | null {
  return (c as CaseDetail & { verification?: CaseVerification | null }).verification ?? null;
}

function Photo({ label, src, faces, age, testId }: { label: string; src: string | null; faces: number | null; age: number | null; testId: string }) {
  return (
    <Box sx={{ minWidth: 0, display: 'flex', flexDirection: 'column', gap: 0.5 }} data-testid={testId}>
      <Box sx={{ display: 'flex', alignItems: 'baseline', gap: 1 }}>
        <Typography variant="subtitle2">{label}</Typography>
        <Typography variant="caption" color={faces === 1 ? 'text.secondary' : 'warning.main'} data-testid={`${testId}-faces`}>
          {faces === null ? '' : `${faces} face${faces === 1 ? '' : 's'}`}{age !== null ? ` · looks about ${age}` : ''}
        </Typography>
      </Box>
      <Box sx={{ bgcolor: '#222', borderRadius: 1, overflow: 'hidden', height: { xs: 260, md: 380 }, lineHeight: 0 }}>
        {src
          ? <img src={src} alt={label} draggable={false} style={{ width: '100%', height: '100%', objectFit: 'contain' }} data-testid={`${testId}-image`} />
          : <Box sx={{ height: '100%', display: 'flex', alignItems: 'center', justifyContent: 'center', color: '#bbb', fontSize: '0.85rem', lineHeight: 1.4, p: 2, textAlign: 'center' }}>no image stored</Box>}
      </Box>
    </Box>
  );
}

/** The verification panel: both images, the age and the face match. */
export function VerificationPanel({ v }: { v: CaseVerification }) {
  const matchColor = v.match === null ? 'default' : v.match ? 'success' : 'error';
  return (
    <Card data-testid="verification-panel" data-match={v.match === null ? '' : String(v.match)}>
      <CardContent sx={{ display: 'flex', flexDirection: 'column', gap: 1.25 }}>
        <Box sx={{ display: 'flex', alignItems: 'center', gap: 1, flexWrap: 'wrap' }}>
          <Typography variant="subtitle2">Age/ID verification</Typography>
          <Chip size="small" variant="outlined" label={v.status} data-testid="verification-status" />
          <Box sx={{ flex: 1 }} />
          {v.match !== null && (
            <Tooltip title="Euclidean distance between the face descriptors of the document and the selfie (face-api); at or under the threshold is the same person by that measure. A human decides.">
              <Chip
                color={matchColor}
                icon={v.match ? <CheckCircleIcon /> : <ErrorIcon />}
                label={`${v.match ? 'faces match' : 'faces do NOT match'} · distance ${v.distance?.toFixed(3)} ${v.match ? '≤' : '>'} ${v.threshold?.toFixed(2)}`}
                sx={{ fontWeight: 700, ...(v.match ? {} : { fontSize: '0.9rem', height: 30 }) }}
                data-testid="verification-match"
              />
            </Tooltip>
          )}
        </Box>
        {v.match === false && v.status === 'pending' && (
          <Typography variant="body2" sx={{ color: 'error.main', fontWeight: 600 }} data-testid="verification-mismatch">
            The automatic check found different people on the ID document and the selfie. Compare them yourself before deciding.
          </Typography>
        )}
        <Box sx={{ display: 'flex', gap: 3, flexWrap: 'wrap', fontSize: '0.9rem' }} data-testid="verification-facts">
          <span>Date of birth <b data-testid="verification-dob">{v.dateOfBirth ?? '—'}</b></span>
          <span>Age <b data-testid="verification-age">{v.ageYears ?? '—'}</b>{v.checkedOn ? <Typography component="span" variant="caption" color="text.secondary"> on {v.checkedOn} (UTC)</Typography> : null}</span>
          <span>Submitted <b>{when(v.createdAt)}</b></span>
          {v.expiresAt && <span>Valid until <b>{when(v.expiresAt)}</b></span>}
          {v.decisionReason && <span>Reason <b>{v.decisionReason}</b></span>}
          {(v.checks?.document?.trailingBytes || v.checks?.selfie?.trailingBytes) && (
            <Tooltip title="Bytes appended after the end of the image in the uploaded file: a phone's own trailer, or something hidden behind the picture. Only the image was kept.">
              <Typography component="span" variant="body2" sx={{ color: 'warning.main' }} data-testid="verification-trailing">
                Extra data after the image (not stored):{' '}
                {(['document', 'selfie'] as const).filter((w) => v.checks?.[w]?.trailingBytes).map((w) => `${w} ${v.checks![w]!.trailingBytes} bytes`).join(', ')}
              </Typography>
            </Tooltip>
          )}
        </Box>
        {v.imagesDeletedAt
          ? <Typography variant="body2" color="text.secondary">The images were deleted after the retention period ({when(v.imagesDeletedAt)}).</Typography>
          : (
            <Box sx={{ display: 'grid', gridTemplateColumns: { xs: '1fr', sm: '1fr 1fr' }, gap: 1.5 }}>
              <Photo label="ID document" src={v.documentUrl} faces={v.faces.document} age={v.estimatedAge.document} testId="verification-document" />
              <Photo label="Selfie" src={v.selfieUrl} faces={v.faces.selfie} age={v.estimatedAge.selfie} testId="verification-selfie" />
            </Box>
          )}
        <Typography variant="caption" color="text.secondary">Identity documents: shown as they are. Every view is written to the audit log; nothing is cached.</Typography>
      </CardContent>
    </Card>
  );
}
