/**
 * Taking a photo with the device's camera: a live preview (getUserMedia), a capture button (the frame drawn to a
 * canvas and encoded as JPEG), and closing the camera. The camera is released when the photo is taken, the
 * preview is closed or the component goes away. When the camera cannot be opened, it says why (the page offers
 * an upload instead).
 */
import { useEffect, useRef, useState } from 'react';
import { Alert, Box, Button, Stack } from '@mui/material';
import PhotoCamera from '@mui/icons-material/PhotoCamera';
import { t } from '../../common/i18n.ts';

export function CameraCapture({ facingMode, name, onCapture, testId }: { facingMode: 'user' | 'environment'; name: string; onCapture(file: File): void; testId: string }) {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const video = useRef<HTMLVideoElement>(null);
  const stream = useRef<MediaStream | null>(null);

  const stop = () => {
    stream.current?.getTracks().forEach((tr) => tr.stop());
    stream.current = null;
    setOpen(false);
  };
  useEffect(() => () => stream.current?.getTracks().forEach((tr) => tr.stop()), []);

  const start = async () => {
    setError(null);
    try {
      if (!navigator.mediaDevices?.getUserMedia) throw new Error('no camera access in this browser');
      const s = await navigator.mediaDevices.getUserMedia({ video: { facingMode, width: { ideal: 1280 }, height: { ideal: 960 } }, audio: false });
      stream.current = s;
      setOpen(true);
    } catch (err) {
      setError(t('studio.camera.unavailable', { message: err instanceof Error ? err.message : String(err) }));
    }
  };
  // attach the stream once the video element is on screen
  useEffect(() => {
    if (open && video.current && stream.current) {
      video.current.srcObject = stream.current;
      void video.current.play().catch(() => undefined);
    }
  }, [open]);

  const capture = () => {
    const v = video.current;
    if (!v || !v.videoWidth) return;
    const canvas = document.createElement('canvas');
    canvas.width = v.videoWidth;
    canvas.height = v.videoHeight;
    canvas.getContext('2d')!.drawImage(v, 0, 0);
    canvas.toBlob((blob) => {
      if (!blob) return;
      onCapture(new File([blob], `${name}.jpg`, { type: 'image/jpeg' }));
      stop();
    }, 'image/jpeg', 0.92);
  };

  return (
    <Box>
      {!open && <Button variant="outlined" startIcon={<PhotoCamera aria-hidden="true" />} onClick={() => void start()} data-testid={`${testId}-open`}>{t('studio.verification.useCamera')}</Button>}
      {open && (
        <Stack spacing={1}>
          <Box component="video" ref={video} muted playsInline autoPlay aria-label={t('studio.camera.preview')} data-testid={`${testId}-preview`}
            sx={{ width: '100%', maxWidth: 480, borderRadius: 1, bgcolor: '#000', transform: facingMode === 'user' ? 'scaleX(-1)' : undefined }} />
          <Stack direction="row" spacing={1}>
            <Button variant="contained" onClick={capture} data-testid={`${testId}-capture`}>{t('studio.camera.capture')}</Button>
            <Button onClick={stop}>{t('studio.camera.close')}</Button>
          </Stack>
        </Stack>
      )}
      {error && <Alert severity="warning" role="alert" sx={{ mt: 1 }} data-testid={`${testId}-error`}>{error}</Alert>}
    </Box>
  );
}
