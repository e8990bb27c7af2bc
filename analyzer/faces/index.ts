/** analyzer/faces: face count, estimated age and descriptors (face-api). */
export { FaceAnalyzer, SAME_FACE_MAX_DISTANCE, faceSignals, type Face, type FaceResult, type FaceAnalyzerOptions, type FaceReference } from './face-model.ts';
export { LiveFaceCheck, type LiveFaceCheckDeps, type FaceSignalRow } from './live-check.ts';
export { FaceThread, type FaceThreadOptions } from './thread.ts';
