# The gateway as a small static image. Build: docker build -t airflow-prefect-gateway .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=0.1.0
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/airflow-prefect-gateway ./cmd/airflow-prefect-gateway

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/airflow-prefect-gateway /usr/local/bin/airflow-prefect-gateway
EXPOSE 8080
USER nonroot
ENV GATEWAY_LISTEN=0.0.0.0:8080
HEALTHCHECK --interval=10s --timeout=5s --retries=3 CMD ["/usr/local/bin/airflow-prefect-gateway", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/airflow-prefect-gateway"]
