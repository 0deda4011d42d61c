/**
 * Every custom layer pipewright's models use, registered with tf.serialization on import (each
 * module registers its class), so that a process that only loads models (the model server, the
 * eval pool) can deserialise them: model-io imports this module.
 */
export { FastDense } from './fast-dense';
export { SparseDense } from './sparse-dense';
export { SparseEmbeddings } from './sparse-embeddings';
export { SeededDropout } from './seeded-dropout';
export { installSparseKernels } from './sparse-kernels';
