/*
 * librdkafka - The Apache Kafka C/C++ library
 *
 * Copyright (c) 2017-2022, Magnus Edenhill
 * All rights reserved.
 *
 * Redistribution and use in source and binary forms, with or without
 * modification, are permitted provided that the following conditions are met:
 *
 * 1. Redistributions of source code must retain the above copyright notice,
 *    this list of conditions and the following disclaimer.
 * 2. Redistributions in binary form must reproduce the above copyright notice,
 *    this list of conditions and the following disclaimer in the documentation
 *    and/or other materials provided with the distribution.
 *
 * THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
 * AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
 * IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE
 * ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT OWNER OR CONTRIBUTORS BE
 * LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR
 * CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
 * SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS
 * INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN
 * CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE)
 * ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE
 * POSSIBILITY OF SUCH DAMAGE.
 */

#include "rdkafka_int.h"
#include "rdkafka_header.h"



/* (riff patch) A header of a packed list is freed with its list. */
static void rd_kafka_header_destroy(void *_hdr) {
        rd_kafka_header_t *hdr = _hdr;

        if (!hdr->rkhdr_packed)
                rd_free(hdr);
}

void rd_kafka_headers_destroy(rd_kafka_headers_t *hdrs) {
        rd_list_destroy(&hdrs->rkhdrs_list);
        rd_free(hdrs);
}

rd_kafka_headers_t *rd_kafka_headers_new(size_t initial_count) {
        rd_kafka_headers_t *hdrs;

        hdrs = rd_malloc(sizeof(*hdrs));
        rd_list_init(&hdrs->rkhdrs_list, (int)initial_count,
                     rd_kafka_header_destroy);
        hdrs->rkhdrs_ser_size = 0;
        hdrs->rkhdrs_room     = NULL;
        hdrs->rkhdrs_room_end = NULL;
        hdrs->rkhdrs_ser      = NULL;

        return hdrs;
}

/* (riff patch) The room a header of a packed list takes. */
#define RD_KAFKA_HEADER_PACKED_SIZE(NAME_SIZE, VALUE_SIZE)                     \
        RD_ROUNDUP(sizeof(rd_kafka_header_t) + (NAME_SIZE) + 1 +              \
                       (VALUE_SIZE) + 1,                                       \
                   sizeof(void *))

rd_kafka_headers_t *rd_kafka_headers_new_packed(size_t count, size_t bytes) {
        rd_kafka_headers_t *hdrs;
        size_t start = RD_ROUNDUP(sizeof(*hdrs), sizeof(void *));
        /* Each header's struct, rounded up, then its name and value */
        size_t room =
            count * (RD_KAFKA_HEADER_PACKED_SIZE(0, 0) + sizeof(void *)) +
            bytes;
        /* Each name and value, and their lengths' varints (2 bytes each
         * for lengths below 8192) */
        size_t ser_room = bytes + count * 4;

        hdrs = rd_malloc(start + room + ser_room);
        rd_list_init(&hdrs->rkhdrs_list, (int)count, rd_kafka_header_destroy);
        hdrs->rkhdrs_ser_size = 0;
        hdrs->rkhdrs_room     = (char *)hdrs + start;
        hdrs->rkhdrs_room_end = hdrs->rkhdrs_room + room;
        hdrs->rkhdrs_ser      = hdrs->rkhdrs_room_end;
        hdrs->rkhdrs_ser_pos  = hdrs->rkhdrs_ser;
        hdrs->rkhdrs_ser_end  = hdrs->rkhdrs_ser + ser_room;

        return hdrs;
}

/* (riff patch) Appends varint \p v to a packed list's serialized headers. */
static rd_bool_t rd_kafka_headers_ser_varint(rd_kafka_headers_t *hdrs,
                                             int64_t v) {
        size_t sz = rd_uvarint_enc_i64(
            hdrs->rkhdrs_ser_pos,
            (size_t)(hdrs->rkhdrs_ser_end - hdrs->rkhdrs_ser_pos), v);

        hdrs->rkhdrs_ser_pos += sz;
        return sz > 0;
}

/* (riff patch) Appends \p size bytes to a packed list's serialized headers. */
static rd_bool_t rd_kafka_headers_ser_bytes(rd_kafka_headers_t *hdrs,
                                            const void *data,
                                            size_t size) {
        if ((size_t)(hdrs->rkhdrs_ser_end - hdrs->rkhdrs_ser_pos) < size)
                return rd_false;
        if (size > 0)
                memcpy(hdrs->rkhdrs_ser_pos, data, size);
        hdrs->rkhdrs_ser_pos += size;
        return rd_true;
}

static void *rd_kafka_header_copy(const void *_src, void *opaque) {
        rd_kafka_headers_t *hdrs     = opaque;
        const rd_kafka_header_t *src = (const rd_kafka_header_t *)_src;

        return (void *)rd_kafka_header_add(
            hdrs, src->rkhdr_name, src->rkhdr_name_size, src->rkhdr_value,
            src->rkhdr_value_size);
}

rd_kafka_headers_t *rd_kafka_headers_copy(const rd_kafka_headers_t *src) {
        rd_kafka_headers_t *dst;

        dst = rd_malloc(sizeof(*dst));
        rd_list_init(&dst->rkhdrs_list, rd_list_cnt(&src->rkhdrs_list),
                     rd_kafka_header_destroy);
        dst->rkhdrs_ser_size = 0; /* Updated by header_copy() */
        dst->rkhdrs_room     = NULL;
        dst->rkhdrs_room_end = NULL;
        dst->rkhdrs_ser      = NULL;
        rd_list_copy_to(&dst->rkhdrs_list, &src->rkhdrs_list,
                        rd_kafka_header_copy, dst);

        return dst;
}



rd_kafka_resp_err_t rd_kafka_header_add(rd_kafka_headers_t *hdrs,
                                        const char *name,
                                        ssize_t name_size,
                                        const void *value,
                                        ssize_t value_size) {
        rd_kafka_header_t *hdr;
        char varint_NameLen[RD_UVARINT_ENC_SIZEOF(int32_t)];
        char varint_ValueLen[RD_UVARINT_ENC_SIZEOF(int32_t)];

        if (name_size == -1)
                name_size = strlen(name);

        if (value_size == -1)
                value_size = value ? strlen(value) : 0;
        else if (!value)
                value_size = 0;

        if (hdrs->rkhdrs_room &&
            (size_t)(hdrs->rkhdrs_room_end - hdrs->rkhdrs_room) >=
                RD_KAFKA_HEADER_PACKED_SIZE(name_size, value_size)) {
                /* (riff patch) In the packed list's room */
                hdr = (rd_kafka_header_t *)hdrs->rkhdrs_room;
                hdrs->rkhdrs_room +=
                    RD_KAFKA_HEADER_PACKED_SIZE(name_size, value_size);
                hdr->rkhdr_packed = rd_true;
        } else {
                hdr = rd_malloc(sizeof(*hdr) + name_size + 1 + value_size + 1);
                hdr->rkhdr_packed = rd_false;
        }
        hdr->rkhdr_name_size = name_size;
        memcpy((void *)hdr->rkhdr_name, name, name_size);
        hdr->rkhdr_name[name_size] = '\0';

        if (likely(value != NULL)) {
                hdr->rkhdr_value = hdr->rkhdr_name + name_size + 1;
                memcpy((void *)hdr->rkhdr_value, value, value_size);
                hdr->rkhdr_value[value_size] = '\0';
                hdr->rkhdr_value_size        = value_size;
        } else {
                hdr->rkhdr_value      = NULL;
                hdr->rkhdr_value_size = 0;
        }

        rd_list_add(&hdrs->rkhdrs_list, hdr);

        /* Calculate serialized size of header */
        hdr->rkhdr_ser_size = name_size + value_size;
        hdr->rkhdr_ser_size += rd_uvarint_enc_i64(
            varint_NameLen, sizeof(varint_NameLen), name_size);
        hdr->rkhdr_ser_size += rd_uvarint_enc_i64(
            varint_ValueLen, sizeof(varint_ValueLen), value_size);
        hdrs->rkhdrs_ser_size += hdr->rkhdr_ser_size;

        /* (riff patch) Serialized as a record carries it, while it fits */
        if (hdrs->rkhdrs_ser &&
            !(rd_kafka_headers_ser_varint(hdrs, (int64_t)name_size) &&
              rd_kafka_headers_ser_bytes(hdrs, name, (size_t)name_size) &&
              rd_kafka_headers_ser_varint(
                  hdrs, value ? (int64_t)value_size : -1) &&
              rd_kafka_headers_ser_bytes(hdrs, value, (size_t)value_size)))
                hdrs->rkhdrs_ser = NULL;

        return RD_KAFKA_RESP_ERR_NO_ERROR;
}


/**
 * @brief header_t(name) to char * comparator
 */
static int rd_kafka_header_cmp_str(void *_a, void *_b) {
        const rd_kafka_header_t *a = _a;
        const char *b              = _b;

        return strcmp(a->rkhdr_name, b);
}

rd_kafka_resp_err_t rd_kafka_header_remove(rd_kafka_headers_t *hdrs,
                                           const char *name) {
        size_t ser_size = 0;
        rd_kafka_header_t *hdr;
        int i;

        RD_LIST_FOREACH_REVERSE(hdr, &hdrs->rkhdrs_list, i) {
                if (rd_kafka_header_cmp_str(hdr, (void *)name))
                        continue;

                ser_size += hdr->rkhdr_ser_size;
                rd_list_remove_elem(&hdrs->rkhdrs_list, i);
                rd_kafka_header_destroy(hdr);
        }

        if (ser_size == 0)
                return RD_KAFKA_RESP_ERR__NOENT;

        hdrs->rkhdrs_ser = NULL; /* (riff patch) No longer the list's */

        rd_dassert(hdrs->rkhdrs_ser_size >= ser_size);
        hdrs->rkhdrs_ser_size -= ser_size;

        return RD_KAFKA_RESP_ERR_NO_ERROR;
}

rd_kafka_resp_err_t rd_kafka_header_get_last(const rd_kafka_headers_t *hdrs,
                                             const char *name,
                                             const void **valuep,
                                             size_t *sizep) {
        const rd_kafka_header_t *hdr;
        int i;
        size_t name_size = strlen(name);

        RD_LIST_FOREACH_REVERSE(hdr, &hdrs->rkhdrs_list, i) {
                if (hdr->rkhdr_name_size == name_size &&
                    !strcmp(hdr->rkhdr_name, name)) {
                        *valuep = hdr->rkhdr_value;
                        *sizep  = hdr->rkhdr_value_size;
                        return RD_KAFKA_RESP_ERR_NO_ERROR;
                }
        }

        return RD_KAFKA_RESP_ERR__NOENT;
}


rd_kafka_resp_err_t rd_kafka_header_get(const rd_kafka_headers_t *hdrs,
                                        size_t idx,
                                        const char *name,
                                        const void **valuep,
                                        size_t *sizep) {
        const rd_kafka_header_t *hdr;
        int i;
        size_t mi        = 0; /* index for matching names */
        size_t name_size = strlen(name);

        RD_LIST_FOREACH(hdr, &hdrs->rkhdrs_list, i) {
                if (hdr->rkhdr_name_size == name_size &&
                    !strcmp(hdr->rkhdr_name, name) && mi++ == idx) {
                        *valuep = hdr->rkhdr_value;
                        *sizep  = hdr->rkhdr_value_size;
                        return RD_KAFKA_RESP_ERR_NO_ERROR;
                }
        }

        return RD_KAFKA_RESP_ERR__NOENT;
}


rd_kafka_resp_err_t rd_kafka_header_get_all(const rd_kafka_headers_t *hdrs,
                                            size_t idx,
                                            const char **namep,
                                            const void **valuep,
                                            size_t *sizep) {
        const rd_kafka_header_t *hdr;

        hdr = rd_list_elem(&hdrs->rkhdrs_list, (int)idx);
        if (unlikely(!hdr))
                return RD_KAFKA_RESP_ERR__NOENT;

        *namep  = hdr->rkhdr_name;
        *valuep = hdr->rkhdr_value;
        *sizep  = hdr->rkhdr_value_size;
        return RD_KAFKA_RESP_ERR_NO_ERROR;
}


size_t rd_kafka_header_cnt(const rd_kafka_headers_t *hdrs) {
        return (size_t)rd_list_cnt(&hdrs->rkhdrs_list);
}
